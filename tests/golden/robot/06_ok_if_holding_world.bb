# world: holding_cup.json
s1 = place(object=red_cup, target=bin_b);
s2 = say(text="done");
