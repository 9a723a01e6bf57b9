# Fiber switches: two fibers pass a counter over unbuffered channels N times (4 switches per round
# trip: send wakes the receiver, the receiver's answer wakes the sender). Prints the final count.
rounds = (ARGV[0]? || "100000").to_i
ping = Channel(Int32).new
pong = Channel(Int32).new
spawn do
  while value = ping.receive?
    pong.send(value + 1)
  end
end
value = 0
rounds.times { ping.send(value); value = pong.receive }
ping.close
puts "#{rounds} round trips, counter #{value}"
