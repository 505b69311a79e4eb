s1 = move_to(target={x=45 cm, y=-100 mm, z=0.3, yaw=90 deg}, speed=0.1 m/s);
