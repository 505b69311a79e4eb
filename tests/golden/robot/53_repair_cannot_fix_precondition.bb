# repair
s1 = place(object=red_cup, target=bin_a);
