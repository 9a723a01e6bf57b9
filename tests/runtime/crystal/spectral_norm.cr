# The benchmarks game's spectral-norm: floating-point loops over arrays, allocation only up front.
def eval_a(i, j)
  1.0 / ((i + j) * (i + j + 1) / 2 + i + 1)
end

def eval_a_times_u(u, au)
  au.size.times do |i|
    sum = 0.0
    u.each_with_index { |value, j| sum += eval_a(i, j) * value }
    au[i] = sum
  end
end

def eval_at_times_u(u, au)
  au.size.times do |i|
    sum = 0.0
    u.each_with_index { |value, j| sum += eval_a(j, i) * value }
    au[i] = sum
  end
end

def eval_ata_times_u(u, atau, scratch)
  eval_a_times_u(u, scratch)
  eval_at_times_u(scratch, atau)
end

n = (ARGV[0]? || "1000").to_i
u = Array.new(n, 1.0)
v = Array.new(n, 0.0)
scratch = Array.new(n, 0.0)
10.times do
  eval_ata_times_u(u, v, scratch)
  eval_ata_times_u(v, u, scratch)
end
vbv = vv = 0.0
n.times do |i|
  vbv += u[i] * v[i]
  vv += v[i] * v[i]
end
puts Math.sqrt(vbv / vv).format(decimal_places: 9)
