# Exceptions as Crystal programs use them: every case prints what native Crystal prints.
class AppError < Exception
end

class ParseError < AppError
  getter line : Int32

  def initialize(message, @line)
    super(message)
  end
end

def deep(depth : Int32, payload : Array(String)) : Int32
  payload << "level #{depth}"
  raise ParseError.new("bottom reached", depth) if depth == 0
  deep(depth - 1, payload) + 1
end

def with_ensure(log : Array(String))
  log << "enter"
  yield
  log << "not reached"
ensure
  log << "ensure"
end

def rescue_in_block(items : Array(Int32))
  items.map do |item|
    begin
      raise ArgumentError.new("odd #{item}") if item.odd?
      item * 10
    rescue e : ArgumentError
      -item
    end
  end
end

# 1. rescue by type, through a class hierarchy, from deep in the stack
payload = [] of String
begin
  deep(200, payload)
rescue ex1 : AppError
  puts "1: #{ex1.class}: #{ex1.message} at line #{ex1.as(ParseError).line}, #{payload.size} levels, last #{payload.last}"
end

# 2. the first matching rescue wins; else runs without a raise; ensure always
[0, 1, 2].each do |which|
  begin
    case which
    when 0 then raise KeyError.new("missing")
    when 1 then raise IndexError.new("far")
    end
    print "2: no raise"
  rescue ex2 : IndexError
    print "2: IndexError #{ex2.message}"
  rescue ex2 : KeyError
    print "2: KeyError #{ex2.message}"
  else
    print ", else"
  ensure
    puts ", ensure"
  end
end

# 3. ensure runs while an exception passes, and re-raise keeps the object
log = [] of String
original = nil
begin
  begin
    with_ensure(log) { raise AppError.new("through ensure") }
  rescue ex3
    original = ex3
    raise ex3
  end
rescue again
  puts "3: #{log.join(",")}; same object: #{again.same?(original)}"
end

# 4. raise in blocks and procs
puts "4: #{rescue_in_block([1, 2, 3, 4])}"
failing = ->(n : Int32) { raise "proc #{n}" if n > 2; n }
begin
  (1..5).each { |n| failing.call(n) }
rescue ex4
  puts "4: #{ex4.message}"
end

# 5. nested handlers, and a raise inside ensure replaces the first exception
begin
  begin
    begin
      raise "inner"
    ensure
      puts "5: inner ensure"
    end
  rescue ex5
    puts "5: caught #{ex5.message}"
    raise "from rescue"
  ensure
    puts "5: middle ensure"
  end
rescue ex5
  puts "5: outer caught #{ex5.message}"
end
begin
  begin
    raise "first"
  ensure
    raise "second, from ensure"
  end
rescue ex5
  puts "5: #{ex5.message}"
end

# 6. the standard library's own raises: overflow, index, division, nil, parse
values = [Int32::MAX, 0]
[
  -> { values[0] + 1 },
  -> { values[7] },
  -> { 1 // values[1] },
  -> { [nil, 1][0].not_nil! },
  -> { "12x".to_i },
  -> { {"a" => 1}["b"] },
].each_with_index do |action, index|
  begin
    action.call
    puts "6.#{index}: no error"
  rescue ex6
    puts "6.#{index}: #{ex6.class}: #{ex6.message}"
  end
end

# 8. exceptions while the collector works: many raises, each with garbage, all caught
total = 0
kept = [] of String
20_000.times do |i|
  begin
    garbage = Array.new(50) { |j| "#{i}-#{j}" }
    raise AppError.new(garbage.last) if i % 3 == 0
    total += garbage.size
  rescue ex8
    kept << ex8.message.not_nil! if i % 5000 == 0
  end
end
puts "8: #{total} #{kept}"

# 9. fibers: one rescues its own raise, one ends with an unhandled one (reported as natively)
channel = Channel(String).new
spawn do
  begin
    raise AppError.new("in fiber")
  rescue ex9
    channel.send "9: fiber rescued #{ex9.message}"
  end
end
puts channel.receive
done = Channel(Nil).new
spawn(name: "failing") do
  done.send nil
  raise AppError.new("unhandled in fiber")
end
done.receive
Fiber.yield
puts "9: main goes on"

# 10. one protected call that switches fibers and then raises, 10,000 times in a fiber: the stack
# pointer each catch puts back is where the call started, not where the switch's rewind left it
def switch_then_raise(i : Int32) : Int32
  Fiber.yield
  raise AppError.new("after a switch") if i.even?
  1
end

results = Channel(Int32).new
spawn { 20_000.times { Fiber.yield } } # so that each Fiber.yield below is a real switch
spawn do
  count = 0
  10_000.times do |i|
    begin
      count += switch_then_raise(i)
    rescue AppError
      count += 2
    end
  end
  results.send count
end
puts "10: #{results.receive}"

# 11. ensure code that switches fibers while an exception passes through it, then the exception goes on
# (where the link marks such a path as a raise's, it forbids collections there, not switches)
@[NoInline]
def switch_and_log(log : Channel(String))
  Fiber.yield
  log.send "11: ensure ran"
end

def ensure_switches(log : Channel(String))
  raise AppError.new("through a switching ensure")
ensure
  switch_and_log(log)
end

log = Channel(String).new(1)
spawn { 3.times { Fiber.yield } }
begin
  ensure_switches(log)
rescue ex11
  puts log.receive
  puts "11: #{ex11.message}"
end

# 12. the main fiber collects after all those catches: 200 MB of garbage in small arrays leaves a
# small heap
garbage = 0_i64
200_000.times { |i| garbage += Array(Int32).new(250, i).size }
puts "12: #{garbage} #{GC.stats.heap_size < 100 * 1024 * 1024}"

# 13. a raise from a Crystal callback that C calls (libc's qsort), through the C frames to a rescue in
# Crystal, and qsort called again afterwards (natively the unwinder walks the C library's unwind
# tables; on wasm32 qsort gets the early returns like any function a raise can pass). @[Raises]: Crystal
# assumes a C function does not raise, and calls it without a landing pad, unless told.
lib LibC
  @[Raises]
  fun qsort(base : Void*, count : SizeT, size : SizeT, compare : (Void*, Void*) -> Int32)
end

numbers = [50, 30, 90, 10, 70, 20]
compare = ->(a : Void*, b : Void*) do
  x, y = a.as(Int32*).value, b.as(Int32*).value
  raise AppError.new("90 compared") if x == 90 || y == 90
  x <=> y
end
begin
  LibC.qsort(numbers.to_unsafe.as(Void*), LibC::SizeT.new(numbers.size), LibC::SizeT.new(sizeof(Int32)), compare)
  puts "13: sorted without a raise"
rescue ex13 : AppError
  puts "13: #{ex13.message}, #{numbers.sort == [10, 20, 30, 50, 70, 90]}"
end
numbers.delete(90)
LibC.qsort(numbers.to_unsafe.as(Void*), LibC::SizeT.new(numbers.size), LibC::SizeT.new(sizeof(Int32)), compare)
puts "13: #{numbers}"
