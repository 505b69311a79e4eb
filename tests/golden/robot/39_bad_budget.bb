# budget: 5
s1 = pick(object=red_cup);
s2 = place(object=red_cup, target=bin_a);
