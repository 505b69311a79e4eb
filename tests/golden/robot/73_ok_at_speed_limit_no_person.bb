# At the speed limit the speed term is 0.5; the rise rule watches only hazard terms.
s1 = move_to(target=green_ball, speed=0.5 m/s);
