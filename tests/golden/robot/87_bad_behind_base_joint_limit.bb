# Behind the base the yaw joint passes its limit.
s1 = move_to(target={x=-0.15, y=0.02, z=0.3}, speed=0.1 m/s);
s2 = move_to(target={x=-0.15, y=-0.02, z=0.3}, speed=0.1 m/s);
