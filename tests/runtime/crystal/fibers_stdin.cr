# A fiber reads standard input line by line and hands each line over a channel; the main fiber
# prints them while a third fiber keeps yielding: reads wait through the event loop.
lines = Channel(String?).new
spawn(name: "reader") do
  while line = STDIN.gets
    lines.send(line)
  end
  lines.send(nil)
end
ticks = 0
spawn(name: "ticker") do
  loop do
    ticks += 1
    Fiber.yield
  end
end
count = 0
while line = lines.receive
  count += 1
  puts "#{count}: #{line.upcase} (#{line.bytesize} bytes)"
end
puts "read #{count} lines; the ticker ran: #{ticks > 0}"
