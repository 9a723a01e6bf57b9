require "big"
factorial = (1..1000).reduce(BigInt.new(1)) { |product, n| product * n }
digits = factorial.to_s
puts digits.size
puts digits[0, 20]
puts digits.count('0')
puts (BigInt.new(2) ** 100)
