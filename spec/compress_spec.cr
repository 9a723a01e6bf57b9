require "spec"
require "compress/gzip"
require "compress/zlib"

describe "Compress on wasm32 (zlib)" do
  it "round-trips gzip" do
    text = "cwpkg " * 500
    io = IO::Memory.new
    Compress::Gzip::Writer.open(io) { |gzip| gzip.print text }
    (io.size < 100).should be_true
    io.rewind
    Compress::Gzip::Reader.open(io) { |gzip| gzip.gets_to_end }.should eq(text)
  end

  it "round-trips zlib streams" do
    io = IO::Memory.new
    Compress::Zlib::Writer.open(io) { |zlib| zlib.print "data" * 10 }
    io.rewind
    Compress::Zlib::Reader.open(io) { |zlib| zlib.gets_to_end }.should eq("data" * 10)
  end
end
