# The benchmarks game's n-body: floating-point arithmetic on a few objects, no allocation.
SOLAR_MASS    = 4 * Math::PI**2
DAYS_PER_YEAR = 365.24

class Planet
  property x : Float64, y : Float64, z : Float64, vx : Float64, vy : Float64, vz : Float64, mass : Float64

  def initialize(@x, @y, @z, vx, vy, vz, mass)
    @vx, @vy, @vz = vx * DAYS_PER_YEAR, vy * DAYS_PER_YEAR, vz * DAYS_PER_YEAR
    @mass = mass * SOLAR_MASS
  end
end

def energy(bodies)
  e = 0.0
  bodies.each_with_index do |b, i|
    e += 0.5 * b.mass * (b.vx * b.vx + b.vy * b.vy + b.vz * b.vz)
    (i + 1).upto(bodies.size - 1) do |j|
      b2 = bodies[j]
      dx, dy, dz = b.x - b2.x, b.y - b2.y, b.z - b2.z
      e -= (b.mass * b2.mass) / Math.sqrt(dx * dx + dy * dy + dz * dz)
    end
  end
  e
end

def offset_momentum(bodies)
  px = py = pz = 0.0
  bodies.each do |b|
    px += b.vx * b.mass
    py += b.vy * b.mass
    pz += b.vz * b.mass
  end
  sun = bodies[0]
  sun.vx, sun.vy, sun.vz = -px / SOLAR_MASS, -py / SOLAR_MASS, -pz / SOLAR_MASS
end

def advance(bodies, dt)
  bodies.each_with_index do |b, i|
    (i + 1).upto(bodies.size - 1) do |j|
      b2 = bodies[j]
      dx, dy, dz = b.x - b2.x, b.y - b2.y, b.z - b2.z
      distance = Math.sqrt(dx * dx + dy * dy + dz * dz)
      magnitude = dt / (distance * distance * distance)
      b.vx -= dx * b2.mass * magnitude
      b.vy -= dy * b2.mass * magnitude
      b.vz -= dz * b2.mass * magnitude
      b2.vx += dx * b.mass * magnitude
      b2.vy += dy * b.mass * magnitude
      b2.vz += dz * b.mass * magnitude
    end
  end
  bodies.each do |b|
    b.x += dt * b.vx
    b.y += dt * b.vy
    b.z += dt * b.vz
  end
end

bodies = [
  Planet.new(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
  Planet.new(4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
    1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05, 9.54791938424326609e-04),
  Planet.new(8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
    -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05, 2.85885980666130812e-04),
  Planet.new(1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
    2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05, 4.36624404335156298e-05),
  Planet.new(1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
    2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05, 5.15138902046611451e-05),
]

n = (ARGV[0]? || "1000000").to_i
offset_momentum(bodies)
puts energy(bodies).format(decimal_places: 9)
n.times { advance(bodies, 0.01) }
puts energy(bodies).format(decimal_places: 9)
