# A large structure held only in a method's locals (a linked list of 200,000 objects with strings, a
# hash of 50,000 entries, an array of arrays) stays intact, checked element by element, while the
# program churns through hundreds of megabytes of garbage; GC.prof_stats counts the collections.
class Node
  getter value : Int32
  getter label : String
  getter next_node : Node?

  def initialize(@value : Int32, @label : String, @next_node : Node?)
  end
end

LIST_LENGTH = 200_000
HASH_SIZE   =  50_000
ROUNDS      =     400

def build_list : Node
  head = Node.new(0, "node 0", nil)
  (1...LIST_LENGTH).each { |i| head = Node.new(i, "node #{i}", head) }
  head
end

# How many nodes are missing or not what they were.
def damaged_list(head : Node) : Int32
  damaged = 0
  expected = LIST_LENGTH - 1
  node = head
  while node
    damaged += 1 unless node.value == expected && node.label == "node #{expected}"
    expected -= 1
    node = node.next_node
  end
  damaged + (expected + 1).abs
end

def damaged_hash(hash : Hash(String, Array(Int32))) : Int32
  damaged = (hash.size - HASH_SIZE).abs
  HASH_SIZE.times do |i|
    values = hash["key #{i}"]?
    damaged += 1 unless values && values.size == 8 && values.each_with_index.all? { |v, j| v == i * 8 + j }
  end
  damaged
end

def damaged_rows(rows : Array(Array(String))) : Int32
  damaged = 0
  rows.each_with_index do |row, i|
    damaged += 1 unless row.size == 16 && row.each_with_index.all? { |text, j| text == "#{i}:#{j}" }
  end
  damaged
end

# Garbage: strings, arrays and hashes that die young, with a result that depends on all of them.
def churn(round : Int32) : Int64
  words = Array(String).new(2_000) { |i| "round #{round} word #{i}" * 4 }
  lookup = {} of String => Int32
  words.each_with_index { |word, i| lookup[word] = i }
  total = 0_i64
  words.each { |word| total += lookup[word] + word.bytesize }
  total
end

def run
  list = build_list
  hash = {} of String => Array(Int32)
  HASH_SIZE.times { |i| hash["key #{i}"] = Array.new(8) { |j| i * 8 + j } }
  rows = Array.new(1_000) { |i| Array.new(16) { |j| "#{i}:#{j}" } }
  collections_before = GC.prof_stats.gc_no
  damaged = 0
  checks = 0
  total = 0_i64
  ROUNDS.times do |round|
    total += churn(round)
    if round % 50 == 0
      damaged += damaged_list(list) + damaged_hash(hash) + damaged_rows(rows)
      checks += 1
    end
  end
  damaged += damaged_list(list) + damaged_hash(hash) + damaged_rows(rows)
  collections = GC.prof_stats.gc_no - collections_before
  puts "#{damaged} damaged in #{checks + 1} checks of #{LIST_LENGTH} nodes, #{HASH_SIZE} entries, 1000 rows"
  puts "churn total: #{total}"
  puts "collected at least 20 times: #{collections >= 20}"
  puts "heap below 256 MiB: #{GC.stats.heap_size < 256 << 20}"
end

run
