# Allocates well over a gigabyte in total (arrays, strings, hashes, objects that die young) while
# keeping a small working set alive; prints what it computed and a lower bound of what it allocated:
# the arrays' contents alone.
record Item, name : String, values : Array(Int32)

rounds = (ARGV[0]? || "4500").to_i
kept = [] of Item
checksum = 0_u64
allocated = 0_u64

rounds.times do |round|
  items = Array(Item).new(1000) do |i|
    values = Array(Int32).new(64) { |j| (round * 31 + i * 7 + j) % 1009 }
    Item.new("item-#{round}-#{i}", values)
  end
  allocated += 1000_u64 * 64 * sizeof(Int32)
  index = Hash(String, Int32).new
  items.each_with_index { |item, i| index[item.name] = i }
  text = String.build do |io|
    items.each { |item| io << item.name << ':' << item.values.sum << '\n' }
  end
  checksum = checksum &* 31 &+ text.bytesize &+ index.size &+ items.sum(&.values.first)
  kept << items[round % 1000]
  kept.shift if kept.size > 100
end

puts "rounds: #{rounds}, kept: #{kept.size}, last: #{kept.last.name}, checksum: #{checksum}"
puts "allocated more than #{allocated // (1 << 20)} MiB in arrays alone"
