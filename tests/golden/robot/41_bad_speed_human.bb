# world: human.json
s1 = pick(object=red_cup);
