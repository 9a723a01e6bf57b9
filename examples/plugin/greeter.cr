# A Crystal plugin: `cwpkg link greeter.cr --reactor` makes greeter.wasm, whose funs a host calls
# (host.py in this directory is one, in Python).

module Greeter
  class_property greetings = 0_i64
end

# Takes the host's bytes, returns a new NUL-terminated string (the host copies it before its next call).
fun greet(name : UInt8*, size : Int32) : UInt8*
  Greeter.greetings += 1
  "Hello, #{String.new(name, size)}!".to_unsafe
end

fun greetings : Int64
  Greeter.greetings
end

# Raises for a host to see: the call fails, the plugin goes on.
fun check_age(age : Int32) : Int32
  raise ArgumentError.new("#{age} is not an age") unless 0 <= age <= 150
  age
end

# How many collections have run, for the host to see that memory is reclaimed.
fun collections : Int64
  GC.prof_stats.gc_no.to_i64
end
