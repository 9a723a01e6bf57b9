# Recursion inside a fiber: each level keeps a buffer on the stack (its address is taken) and a
# string; 200 levels need more than 32 KiB of fiber stack.
def descend(depth : Int32) : Int32
  buffer = uninitialized StaticArray(UInt8, 240)
  pointer = pointerof(buffer)
  pointer.value[0] = (depth % 251).to_u8
  label = "level #{depth}"
  below = depth > 0 ? descend(depth - 1) : 0
  below + pointer.value[0].to_i + label.bytesize
end

result = Channel(Int32).new
spawn { result.send(descend(200)) }
puts "sum #{result.receive}"
