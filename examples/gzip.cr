require "compress/gzip"
text = "cwpkg " * 1000
io = IO::Memory.new
Compress::Gzip::Writer.open(io) { |gzip| gzip.print text }
puts "compressed #{text.bytesize} bytes to #{io.size}"
io.rewind
back = Compress::Gzip::Reader.open(io) { |gzip| gzip.gets_to_end }
puts back == text
