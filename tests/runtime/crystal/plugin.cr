# A plugin (`cwpkg link --reactor`): tests/runtime/test_reactor.py calls its funs from a Python host;
# built natively (without -Dcwpkg_reactor), the code at the end makes the same calls, and the two must
# print the same: the plugin's own lines, and each call's result or exception ("= LABEL: ...").

module Plugin
  class_property adds = 0
  class_property kept = [] of String
end

puts "plugin ready" # the top-level code runs once, in _initialize

fun add(a : Int32, b : Int32) : Int32
  Plugin.adds += 1
  a + b # overflow raises OverflowError
end

fun scale(x : Float64, factor : Float32) : Float64
  x * factor
end

fun fail(code : Int32) : Int32
  raise ArgumentError.new("bad code #{code}") if code > 0
  -code
end

# The host's bytes in, a new string out (NUL-terminated, valid until the next call).
fun greet(name : UInt8*, size : Int32) : UInt8*
  words = String.new(name, size).split(',')
  Plugin.kept = words.last(2)
  "Hello, #{words.join(" and ")}! (#{Plugin.adds} adds)".to_unsafe
end

# Fibers inside one call: each waits for the next, then the call collects their results.
fun fiber_sum(count : Int32) : Int64
  channel = Channel(Int64).new
  count.times { |i| spawn { Fiber.yield; channel.send(i.to_i64 * i) } }
  (1..count).sum { channel.receive }
end

fun rescued_inside(size : Int32) : Int32
  Array.new(size, 7)[size]
rescue IndexError
  -1
end

fun print_line(value : Int32) : Nil
  puts "line #{value} after #{Plugin.adds} adds"
end

fun collections : Int64
  GC.prof_stats.gc_no.to_i64
end

{% unless flag?(:cwpkg_reactor) %}
  def show(label, &)
    puts "= #{label}: #{yield}"
  rescue ex
    puts "= #{label}: raised #{ex.message} (#{ex.class})"
  end

  show("add 2 3") { add(2, 3) }
  show("add max 1") { add(Int32::MAX, 1) }
  show("scale") { scale(4.0, 2.5_f32) }
  show("fail 0") { fail(0) }
  show("fail 7") { fail(7) }
  show("greet") { String.new(greet("ada,grace".to_unsafe, 9)) }
  show("fiber_sum 50") { fiber_sum(50) }
  show("rescued_inside 3") { rescued_inside(3) }
  print_line(5)
  show("add 1 1") { add(1, 1) }
{% end %}
