# Rounds of garbage made of Sets, as samples/havlak.cr makes them. Every entry of a Set (a Hash) keeps
# its element's 32-bit hash beside the element, in memory the collector scans; on wasm32 a random hash
# is a heap address often enough that a live Set keeps some garbage of the round before alive, whose
# Sets keep the round before that: unless a stored hash cannot be an address, the heap grows round
# after round.
class Vertex
  getter id : Int32
  getter neighbours = Set(Vertex).new

  def initialize(@id)
  end
end

checksum = 0_i64
30.times do |round|
  vertices = Array.new(20_000) { |i| Vertex.new(i) }
  vertices.each_with_index do |vertex, i|
    3.times { |k| vertex.neighbours << vertices[(i &* 7 &+ k &* 13 &+ round) % vertices.size] }
  end
  checksum &+= vertices.sum { |vertex| vertex.neighbours.sum(&.id.to_i64) }
end
puts checksum
