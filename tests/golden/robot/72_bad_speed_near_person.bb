# world: human.json
# With a person present the speed term divides by the near-human limit (0.15 m/s).
s1 = move_to(target={x=0.5, y=-0.05, z=0.3}, speed=0.15 m/s);
