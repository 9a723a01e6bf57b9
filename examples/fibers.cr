# Fibers on wasm32: a pipeline of spawned workers connected by channels, a ticker that sleeps,
# and select with a timeout. `cwpkg link examples/fibers.cr --run` prints what the native build prints.
numbers = Channel(Int32).new
squares = Channel(Int32).new(4)

spawn(name: "producer") do
  (1..10).each { |n| numbers.send(n) }
  numbers.close
end

2.times do |worker|
  spawn(name: "squarer #{worker}") do
    while n = numbers.receive?
      squares.send(n * n)
    end
    squares.send(-1) # this worker is done
  end
end

ticks = Channel(String).new
spawn(name: "ticker") do
  3.times do |i|
    sleep 10.milliseconds
    ticks.send("tick #{i + 1}")
  end
end

total, done = 0, 0
while done < 2
  square = squares.receive
  square < 0 ? (done += 1) : (total += square)
end
puts "sum of the squares of 1..10: #{total}"
3.times { puts ticks.receive }

select
when message = ticks.receive
  puts "unexpected: #{message}"
when timeout(20.milliseconds)
  puts "no more ticks after 20 ms"
end
