s1 = pick(object=red_cup, speed=3 N);
