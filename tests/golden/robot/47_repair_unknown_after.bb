# repair
s1 = pick(object=red_cup) after s9;
s2 = place(object=red_cup, target=bin_a);
