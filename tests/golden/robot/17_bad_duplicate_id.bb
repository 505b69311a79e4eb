s1 = pick(object=red_cup);
s1 = place(object=red_cup, target=bin_a);
