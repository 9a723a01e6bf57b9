# Plain Crystal on wasm32-wasi: collections, strings, and files in the directory the runner gives it
# (`cwpkg link examples/hello.cr --run` preopens the current directory).
puts "Hello from Crystal #{Crystal::VERSION} on WebAssembly!"

primes = (2..50).select { |n| (2..Math.sqrt(n).to_i).none? { |d| n % d == 0 } }
puts "primes: #{primes.join(", ")}"

words = "the quick brown fox jumps over the lazy dog the end".split
counts = words.tally.to_a.sort_by { |word, count| {-count, word} }
puts "most common: #{counts.first(2).map { |word, count| "#{word}=#{count}" }.join(" ")}"
puts "reversed: #{"WebAssembly".reverse.downcase}, squares: #{(1..5).map(&.**(2)).sum}"

path = ".cwpkg-hello-#{Random.new.rand(1_000_000)}.txt"
File.write(path, "line one\nline two\n")
File.open(path, "a") { |file| file.puts "line three" }
lines = File.read_lines(path)
puts "file: #{lines.size} lines, last: #{lines.last}, #{File.size(path)} bytes"
File.delete(path)
puts "deleted: #{!File.exists?(path)}"
