require "yaml"

doc = YAML.parse(<<-YAML)
  name: cwpkg
  libraries: [pcre, gmp, libyaml]
  nested:
    depth: 2
  YAML
puts doc["name"].as_s
puts doc["libraries"].as_a.map(&.as_s).join(" ")
puts doc["nested"]["depth"].as_i + 40

data = {"primes" => [2, 3, 5, 7], "squares" => [1, 4, 9]}
text = data.to_yaml
print text
puts Hash(String, Array(Int32)).from_yaml(text) == data
