require "spec"

describe "Crystal core on wasm32" do
  it "sorts, groups and formats" do
    [3, 1, 2].sort.should eq([1, 2, 3])
    %w(a bb cc d).group_by(&.size).should eq({1 => ["a", "d"], 2 => ["bb", "cc"]})
    sprintf("%05.1f|%-3s|%x", 3.14159, "ab", 255).should eq("003.1|ab |ff")
  end

  it "reads and writes files in the preopened directory" do
    path = ".cwpkg-spec-#{Random.new.rand(1_000_000)}.txt"
    File.write(path, "one\ntwo\n")
    File.read_lines(path).should eq(["one", "two"])
    File.delete(path)
    File.exists?(path).should be_false
  end

  it "catches exceptions" do
    expect_raises(ArgumentError, "caught as natively") { raise ArgumentError.new("caught as natively") }
  end

  it "runs fibers" do
    channel = Channel(Int32).new
    spawn { channel.send 1 }
    channel.receive.should eq(1)
  end
end
