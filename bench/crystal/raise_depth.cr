# ITERATIONS raises, each through DEPTH frames of recursion, each rescued at the top: the cost of a
# raise and its rescue, and how it grows with the frames it crosses.
class DepthError < Exception
  getter depth : Int32

  def initialize(@depth)
    super("at the bottom")
  end
end

def descend(depth : Int32, left : Int32) : Int32
  raise DepthError.new(depth) if left == 0
  descend(depth, left - 1) &+ 1
end

iterations = ARGV[0].to_i
depth = ARGV[1].to_i
caught = 0_i64
iterations.times do
  begin
    descend(depth, depth)
  rescue error : DepthError
    caught &+= error.depth
  end
end
puts caught
