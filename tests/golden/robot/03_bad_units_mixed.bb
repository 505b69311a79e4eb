s1 = pick(object=red_cup, speed=150 mm, force=2000 N);
