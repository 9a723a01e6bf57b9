# Mandelbrot set membership over a grid: floating-point inner loops, integer counting, no allocation.
size = (ARGV[0]? || "600").to_i
limit = 50
inside = 0
checksum = 0_u64
size.times do |y|
  ci = 2.0 * y / size - 1.0
  size.times do |x|
    cr = 2.0 * x / size - 1.5
    zr = zi = 0.0
    escaped = limit
    limit.times do |i|
      zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
      if zr * zr + zi * zi > 4.0
        escaped = i
        break
      end
    end
    inside += 1 if escaped == limit
    checksum = checksum &* 31 &+ escaped
  end
end
puts "#{inside} points of #{size * size} inside, checksum #{checksum}"
