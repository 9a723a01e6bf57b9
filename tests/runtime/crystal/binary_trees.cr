# The benchmarks game's binary-trees: many short-lived trees, one long-lived tree.
class Node
  def initialize(@left : Node?, @right : Node?)
  end

  def check : Int32
    left, right = @left, @right
    return 1 unless left && right
    1 + left.check + right.check
  end
end

def bottom_up(depth : Int32) : Node
  return Node.new(nil, nil) if depth == 0
  Node.new(bottom_up(depth - 1), bottom_up(depth - 1))
end

max_depth = (ARGV[0]? || "16").to_i
min_depth = 4
max_depth = Math.max(min_depth + 2, max_depth)

stretch = max_depth + 1
puts "stretch tree of depth #{stretch}\t check: #{bottom_up(stretch).check}"

long_lived = bottom_up(max_depth)

min_depth.step(to: max_depth, by: 2) do |depth|
  iterations = 1 << (max_depth - depth + min_depth)
  check = 0
  iterations.times { check += bottom_up(depth).check }
  puts "#{iterations}\t trees of depth #{depth}\t check: #{check}"
end

puts "long lived tree of depth #{max_depth}\t check: #{long_lived.check}"
