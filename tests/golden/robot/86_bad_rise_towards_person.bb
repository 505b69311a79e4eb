# world: human_on_path.json
# Within the threshold at both ends, but the hazard terms rise more than the tolerance.
s1 = move_to(target={x=0.45, y=0.0, z=0.3}, speed=0.05 m/s);
