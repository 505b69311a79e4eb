# world: human.json
s1 = move_to(target={x=0.5, y=-0.35, z=0.3}, speed=0.1 m/s);
