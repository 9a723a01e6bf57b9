# Many live fibers at once: each waits on its own channel, holding data in its locals, until main
# has spawned all of them; then every one is woken, checks its data and answers.
count = (ARGV[0]? || "10000").to_i
inboxes = Array.new(count) { Channel(Int32).new }
answers = Channel(Int64).new
count.times do |index|
  inbox = inboxes[index]
  spawn do
    mine = "fiber #{index}"
    factor = inbox.receive
    answers.send(mine == "fiber #{index}" ? index.to_i64 * factor : -1_i64)
  end
end
Fiber.yield # every fiber runs up to its receive: all of them are alive and suspended now
inboxes.each { |inbox| inbox.send(2) }
total = (1..count).sum { answers.receive }
puts "#{count} fibers answered, total #{total} (expected #{count.to_i64 * (count - 1)})"
