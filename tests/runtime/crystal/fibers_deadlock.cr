# Every fiber ends up waiting for another: native Crystal waits forever; cwpkg's runtime ends the
# program with a message. What was printed before is the same.
channel = Channel(Int32).new
spawn do
  puts "fiber waits"
  STDOUT.flush
  channel.receive
  puts "never printed"
end
puts "main waits"
STDOUT.flush
Fiber.yield
channel.receive
puts "never printed either"
