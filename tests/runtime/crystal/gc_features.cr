# The collector's features through Crystal's GC module on wasm32, each checked against what a
# native build prints: explicit collections, statistics, atomic and reallocated memory, finalizers,
# weak references.
require "weak_ref"

class Tracked
  @@finalized = 0

  def self.finalized
    @@finalized
  end

  def initialize(@id : Int32)
  end

  # Allocates, so collections fall due inside finalizers too (bdwgc's GC_invoke_finalizers is then on
  # the stack of the unwind: cwpkg's analysis must instrument it).
  def finalize
    @@finalized += 1
    @@last = "finalized #{@id}" * 4
  end

  @@last = ""
end

def make_garbage(count)
  count.times { |i| Tracked.new(i) }
end

GC.collect
before = GC.stats
make_garbage(100_000)
10.times { GC.collect }
puts "finalizers ran: #{Tracked.finalized >= 99_000}"

after = GC.stats
puts "heap size known: #{after.heap_size > 0}, total bytes grew: #{after.total_bytes > before.total_bytes}"

# Memory without pointers, filled and read back after collections.
atomic = GC.malloc_atomic(1 << 20).as(UInt8*)
(1 << 20).times { |i| atomic[i] = (i % 251).to_u8 }
GC.collect
puts "atomic intact: #{(0...(1 << 20)).all? { |i| atomic[i] == (i % 251).to_u8 }}"

# Growing a block keeps its contents.
block = GC.malloc(16).as(Int32*)
4.times { |i| block[i] = i * 7 }
block = GC.realloc(block.as(Void*), 4096).as(Int32*)
GC.collect
puts "realloc kept: #{(0...4).map { |i| block[i] }}"

# A weak reference keeps answering while its target lives.
kept = Tracked.new(1)
weak = WeakRef.new(kept)
make_garbage(10_000)
5.times { GC.collect }
puts "weak ref to a live object: #{weak.value.same?(kept)}"

# Data held only in locals of deep frames survives collections triggered below them.
def deep(n : Int32, list : Array(String)) : Int32
  return list.sum(&.size) if n == 0
  local = "frame #{n}" * 3
  make_garbage(200)
  deep(n - 1, list << local) + local.size
end
puts "deep frames: #{deep(300, [] of String)}"
