# world: human.json
s1 = pick(object=red_cup, speed=0.1 m/s);
s2 = hand_over(object=red_cup);
s3 = push(object=green_ball, direction=back, distance=3 cm, speed=0.1 m/s);
