require "spec"
require "big"

describe "BigInt and BigRational on wasm32 (gmp)" do
  it "computes a large factorial exactly" do
    factorial = (1..100).reduce(BigInt.new(1)) { |product, n| product * n }
    factorial.to_s.size.should eq(158)
    (factorial % BigInt.new(1_000_000_007)).should eq(BigInt.new(437918130))
  end

  it "divides, powers and compares" do
    (BigInt.new(2) ** 128).to_s.should eq("340282366920938463463374607431768211456")
    (BigInt.new("123456789012345678901234567890") // 987654321).should eq(BigInt.new("124999998873437499901"))
    (BigInt.new(10) ** 30 > BigInt.new(10) ** 29).should be_true
  end

  it "keeps rationals in lowest terms" do
    (BigRational.new(1, 3) + BigRational.new(1, 6)).should eq(BigRational.new(1, 2))
  end
end
