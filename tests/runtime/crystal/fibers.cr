# Fibers, channels, select, sleep, Fiber.yield and Mutex, with collections while fibers are
# suspended: every fiber keeps data only in its own locals across switches and checks it at the end.
# The output is what native Crystal prints (the test compares them).

def checksum(values : Array(String)) : Int32
  values.sum(&.bytesize)
end

# Unbuffered channel: ping-pong between two fibers.
ping = Channel(Int32).new
pong = Channel(Int32).new
spawn(name: "ponger") do
  5.times do
    value = ping.receive
    puts "pong got #{value}"
    pong.send(value * 10)
  end
end
5.times do |i|
  ping.send(i)
  puts "ping got #{pong.receive}"
end

# Buffered channel: a producer fills it, a consumer drains it; close ends the consumer.
buffered = Channel(String).new(3)
done = Channel(Nil).new
spawn do
  received = [] of String
  while message = buffered.receive?
    received << message
  end
  puts "consumer received #{received.size} messages: #{received.first}..#{received.last}"
  done.send(nil)
end
10.times { |i| buffered.send("message #{i}") }
buffered.close
done.receive

# Sleep ordering: fibers that sleep shorter wake first, whatever the spawn order.
wakeups = Channel(String).new
[50, 10, 30, 20, 40].each do |ms|
  spawn do
    sleep ms.milliseconds
    wakeups.send("slept #{ms} ms")
  end
end
5.times { puts wakeups.receive }

# select with a timeout: nothing arrives in time, then something does.
quiet = Channel(Int32).new
select
when value = quiet.receive
  puts "unexpected #{value}"
when timeout(20.milliseconds)
  puts "select timed out"
end
spawn { sleep 5.milliseconds; quiet.send(42) }
select
when value = quiet.receive
  puts "select received #{value}"
when timeout(2.seconds)
  puts "select timed out too early"
end

# Fiber.yield fairness: 300 fibers take turns; every fiber runs once in each round before any runs
# again (the order within a later round is the event loop's, which differs between loops).
order = [] of Int32
finished = Channel(Nil).new
300.times do |index|
  spawn do
    3.times do
      order << index
      Fiber.yield
    end
    finished.send(nil)
  end
end
300.times { finished.receive }
rounds = order.each_slice(300).map { |round| round.sort == (0...300).to_a }
puts "yield rounds, each with every fiber once: #{rounds.to_a}; first in spawn order: #{order.first(300) == (0...300).to_a}"

# Mutex: fibers that yield inside the critical section still never interleave in it.
mutex = Mutex.new
log = [] of String
mutex_done = Channel(Nil).new
4.times do |fiber|
  spawn do
    3.times do |step|
      mutex.synchronize do
        log << "#{fiber}a#{step}"
        Fiber.yield
        log << "#{fiber}b#{step}"
      end
      Fiber.yield
    end
    mutex_done.send(nil)
  end
end
4.times { mutex_done.receive }
pairs = log.each_slice(2).all? { |(a, b)| a.sub('a', 'b') == b }
puts "mutex kept #{log.size / 2} sections whole: #{pairs}"

# Collections while fibers are suspended: each fiber builds strings held only in its locals,
# allocates garbage in between switches, and checks its strings after many collections.
results = Channel(Int32).new
20.times do |fiber|
  spawn do
    mine = Array.new(50) { |i| "fiber #{fiber} item #{i} " * 3 }
    expected = checksum(mine)
    30.times do
      garbage = Array.new(2000) { |i| "garbage #{i}" }
      garbage.clear
      Fiber.yield
    end
    results.send(checksum(mine) == expected ? 1 : 0)
  end
end
intact = (1..20).sum { results.receive }
puts "fibers whose data survived: #{intact} of 20"

puts "main fiber: #{Fiber.current.name}"
