# Keeps everything it allocates reachable until the heap cannot grow (run it with GC_MAXIMUM_HEAP_SIZE
# set): the program must end with the runtime's out-of-memory message and a non-zero status, not go on
# with a null pointer (address 0 is ordinary memory on wasm32).
kept = [] of Array(Int64)
loop do
  kept << Array(Int64).new(1024) { |i| i.to_i64 }
  puts "kept #{kept.size} arrays" if kept.size % 1000 == 0
end
