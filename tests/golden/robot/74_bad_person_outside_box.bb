# world: human_outside_box.json
# A person just outside the workspace box is still a hazard.
s1 = move_to(target={x=0.5, y=0.55, z=0.3}, speed=0.5 m/s);
