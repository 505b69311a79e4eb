s1 = teleport(object=red_cup, target=bin_a);
