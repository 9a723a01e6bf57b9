require "spec"
require "yaml"

describe "YAML on wasm32 (libyaml)" do
  it "parses mappings, sequences and scalars" do
    doc = YAML.parse("a: [1, 2]\nb: {c: text}\n")
    doc["a"].as_a.map(&.as_i).should eq([1, 2])
    doc["b"]["c"].as_s.should eq("text")
  end

  it "round-trips typed data" do
    data = {"primes" => [2, 3, 5], "empty" => [] of Int32}
    Hash(String, Array(Int32)).from_yaml(data.to_yaml).should eq(data)
  end

  it "emits sequences (needs the libyaml signature compat patch)" do
    [1, 2].to_yaml.should eq("---\n- 1\n- 2\n")
  end
end
