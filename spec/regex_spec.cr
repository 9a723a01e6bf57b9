require "spec"

describe "Regex on wasm32 (pcre)" do
  it "matches with captures" do
    match = /(\w+)@(\w+)\.org/.match("mail dev@cwpkg.org now").not_nil!
    match[1].should eq("dev")
    match[2].should eq("cwpkg")
    match.begin(0).should eq(5)
  end

  it "scans, substitutes and splits" do
    "a1b22c333".scan(/\d+/).map(&.[0]).should eq(["1", "22", "333"])
    "hello world".gsub(/o/, "0").should eq("hell0 w0rld")
    "x, y;z".split(/[,;]\s*/).should eq(["x", "y", "z"])
  end

  it "handles UTF-8 and named groups" do
    match = /(?<word>\p{L}+)/.match("→ grüße").not_nil!
    match["word"].should eq("grüße")
    ("ÅÄÖ" =~ /ä/i).should eq(1)
  end

  it "reports no match as nil" do
    /z+/.match("abc").should be_nil
  end
end
