# world: human_on_path.json
# Both ends are 0.49 m from the person; the straight segment passes 0.2 m from them.
s1 = move_to(target={x=0.55, y=0.45, z=0.3}, speed=0.1 m/s);
s2 = move_to(target={x=0.55, y=-0.45, z=0.3}, speed=0.1 m/s);
