# repair
s1 = pick(object=red_cup, speed=0.9 m/s);
s2 = place(object=red_cup, target=bin_a) after s5;
