s1 = pick(object=red_cup, speed=0.8 m/s);
