# BigFloat (gmp's mpf): arithmetic, rounding and formatting.
require "big"

a = BigFloat.new("1234567890.12345678901")
b = BigFloat.new("0.04") / BigFloat.new("89.0001")
puts a
puts b
puts a + 1, a - a, -a
puts BigFloat.new(2) ** 100
puts BigFloat.new(5.5) / 16
puts BigFloat.new(7) // 2, BigFloat.new(-7) // 2
puts BigFloat.new("2.5").floor, BigFloat.new("2.5").ceil, BigFloat.new("-7.25").trunc
puts BigFloat.new("1234.5678").round(2)
puts (a * 3).to_f, a.to_i64
puts BigFloat.new(1.0, precision: 256) / 3
puts Math.sqrt(BigFloat.new(2.0, precision: 200))
puts BigFloat.new("1e-10"), BigFloat.new("-0.000125")
puts a > b, (b <=> b), BigFloat.new(3).to_s
