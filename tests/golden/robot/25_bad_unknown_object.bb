s1 = pick(object=purple_cup);
