# Collections with C library frames on the stack: gmp and pcre allocate through the collector
# (Crystal hands them GC.malloc), and libxml2 calls Crystal back (an IO's read) while it parses, and
# the callback allocates. Each result is checked against what a native build prints.
require "big"
require "xml"

# gmp: every product and sum allocates its limbs through GC.malloc from inside gmp's functions.
def factorial_sums(n : Int32) : BigInt
  product = BigInt.new(1)
  sum = BigInt.new(0)
  (1..n).each do |i|
    product *= i
    sum += product
  end
  sum
end

# An IO that hands libxml2 the document a few bytes at a time and allocates on every call.
class TrickleIO < IO
  getter calls = 0

  def initialize(@data : Bytes)
    @position = 0
  end

  def read(slice : Bytes) : Int32
    @calls += 1
    count = {slice.size, @data.size - @position, 61}.min
    slice.copy_from(@data[@position, count])
    @position += count
    garbage = Array.new(40) { |i| "read #{@calls} #{i}" }
    count + garbage.size - 40
  end

  def write(slice : Bytes) : Nil
    raise IO::Error.new("read-only")
  end
end

def document(books : Int32) : String
  String.build do |io|
    io << "<catalog>"
    books.times { |i| io << %(<book id="b#{i}"><title>Title #{i}</title><pages>#{i * 3 % 997}</pages></book>) }
    io << "</catalog>"
  end
end

sum = factorial_sums(1500)
puts "factorial sums: #{sum.to_s.size} digits, mod 1000003 = #{sum % 1_000_003}"

io = TrickleIO.new(document(3000).to_slice)
xml = XML.parse(io)
pages = 0
titles = 0
xml.xpath_nodes("//book").each do |book|
  pages += book.xpath_string("string(pages)").to_i
  titles += 1 if book.xpath_string("string(title)") == "Title #{book["id"][1..]}"
end
puts "xml: #{titles} titles intact, #{pages} pages, read in more than 1000 calls: #{io.calls > 1000}"

matched = 0
3000.times do |i|
  regex = Regex.new("^item-(\\d+)-#{i % 97}-(\\w+)$")
  matched += 1 if "item-#{i}-#{i % 97}-word#{i}".match(regex).try(&.[2]) == "word#{i}"
end
puts "regex: #{matched} of 3000 matched"
