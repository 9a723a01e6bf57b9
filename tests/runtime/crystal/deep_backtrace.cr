# An exception nothing rescues, raised 100 frames down: a backtrace keeps the innermost frames, as many
# as it holds (on wasm32 64; natively every frame).
@[NoInline]
def descend(left : Int32) : Int32
  raise ArgumentError.new("at the bottom") if left == 0
  descend(left - 1) + 1
end

puts "before"
descend(100)
