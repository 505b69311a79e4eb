# The pose is normalised to metres once; the executor runs exactly these values.
s1 = move_to(target={x=45 cm, y=-10 cm, z=30 cm});
